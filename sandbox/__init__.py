"""The CRM stand-ins on loopback (see DESIGN.md "The sandbox")."""
