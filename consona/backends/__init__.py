"""consona.backends"""
