"""The blind arena: serve two anonymous images, take a vote, reveal the models."""
