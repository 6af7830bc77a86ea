// The Daemon module; see README.md for the layout.
