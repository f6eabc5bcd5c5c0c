"""Coverage layers, KPIs per zone and site proposals."""
