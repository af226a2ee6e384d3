"""A stand-in for Microsoft: Partner Center, Azure Resource Manager, Microsoft Graph, identity platform.

Its own process (`python -m simulator serve`), over HTTPS with a local certificate authority, with its own
data, fault injection and a control API. The interface is simulator/CONTRACT.md (README: "The Microsoft
simulator"): the portal reaches it with the same client code as Microsoft, and only
the base URLs and the credentials differ.
"""
