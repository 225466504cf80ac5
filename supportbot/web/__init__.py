"""The web app: the demo shop page with the chat widget, the widget's chat API, the agent API."""
