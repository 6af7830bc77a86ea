// The Export module; see README.md for the layout.
