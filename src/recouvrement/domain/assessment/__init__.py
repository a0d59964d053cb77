"""Assessment: declarations become debts with the rules in force for the period and territory."""
