// OpenSSL: contexts, TLS over buffers, SNI, SPIFFE, the CA library.
