"""`kanava import`: a county's exports from before go-live, as the events the services consume."""
