// The KeepsakeCrypto module; see README.md for the layout.
