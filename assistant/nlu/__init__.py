"""The project's NLU components for Rasa's pipeline (config.yml): MiniLM features, the intent
classifier, the entity extractor and the overlap resolver."""
