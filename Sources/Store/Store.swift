// The Store module; see README.md for the layout.
