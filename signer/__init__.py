"""debusine-signer: the signing worker daemon and its key store."""
