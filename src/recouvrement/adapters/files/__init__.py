"""Files coming in and going out: each reader turns bytes into records and names every fault."""
