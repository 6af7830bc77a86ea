// The Pipeline module; see README.md for the layout.
