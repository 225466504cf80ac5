"""Knowledge-base retrieval: evaluation set, baseline, threshold calibration, benchmark."""
