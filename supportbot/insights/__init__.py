"""What the CRM learns from its customers: segments, churn and value,
satisfaction, next-best products and complaint themes (the batch job's models)."""
