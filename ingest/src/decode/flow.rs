//! Flow-log text decoder (in progress).
