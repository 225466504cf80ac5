"""The sentiment head: its training and its benchmark against VADER."""
