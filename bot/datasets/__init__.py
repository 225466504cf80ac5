"""Public datasets the project trains or evaluates on."""
