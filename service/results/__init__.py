"""The numbers of each TPS: checked against the form's rules, moved through their states with a
recorded reason, and published only when they pass or an officer signed off."""
