"""The Value Proof Packet: assembly from approved items, and rendering (HTML, PDF, Markdown)."""
