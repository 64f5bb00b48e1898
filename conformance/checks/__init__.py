"""The requirement checks: one module per area of the customer's checklist."""
