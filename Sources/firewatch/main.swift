print("firewatch")
