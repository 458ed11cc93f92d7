"""The five pre-training heads, one file each, every head with the loss it is trained by."""
