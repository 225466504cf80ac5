"""The agent console's back end: agent logins and sessions, the conversation list, reviews."""
