"""Looking after a Glimpse database from outside a request: the `flask` commands, the demo seed,
`doctor` and the data migrations. It sits above every feature and may import any of them (and
core); nothing but create_app imports it."""
