print("fpsolve")
