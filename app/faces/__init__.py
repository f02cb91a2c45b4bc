"""Public faces for people and other sites: feeds, badges, status pages, the widget."""
