"""Zendesk as its API and connectors export it: shapes detected from content, joined by ticket.

``files`` opens a ticket file (plain or gzip, with or without a byte-order mark);
``readers`` tells the shape and yields tickets, comments, users and organizations;
``join`` merges them across files (newest ticket copy wins, comments join by ``ticket_id``) and
``people`` decides routing and whose comments are the customer's words. ``html_text`` turns an
``html_body`` into text.
"""
