"""Catalog: versioned plans with a price per currency, and coupons."""
