"""consona.memory"""
