"""The policy service: an HTTP decision API (`/v1`) for 免申即享 platforms and a web page for bureau staff.

`policyengine serve` runs it (uvicorn); `policyengine.service.app.create_app(config)` builds the ASGI app.
Modules: `config` (what `serve` was given), `tokens` (the token file), `auth` (bearer tokens and roles),
`state` (what is loaded once at start), `errors` (the error body), `jobs` (spreadsheet jobs in the background),
`routes/` (one module per group of routes), `web/` (the page and its assets, served by the package).
"""
