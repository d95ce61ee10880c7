"""Each city's OAuth 2 authorization server for the REST API (docs/api.md):

- models.py   clients, authorization codes and tokens, in the city's schema (digests only)
- scopes.py   what a token may do: citizen scopes, staff scopes mapped to console permissions
- server.py   the Authlib server (PKCE, refresh rotation, client credentials, revocation) and
              `scope_required`, the guard of every protected API view
- clients.py  registering and revoking clients (the console's pages)

The endpoints and the consent page are the api audience's (app/api/)."""
