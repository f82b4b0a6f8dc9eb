"""The pages: customers, agents, admins and reports, one router each."""
