"""The city site's asset routes (logo, favicon, hero image) and `flask tenants brand`."""
