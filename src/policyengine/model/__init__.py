"""Rule files → the typed model: load and validate YAML (every error names file, line and key), build
`PolicyVersion`s and `Package`s, hash their canonical form. Nothing outside this package reads YAML rules."""
