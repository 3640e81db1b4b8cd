"""An account's life after sign-up that its owner controls: deleting it."""
