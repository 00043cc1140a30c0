"""consona.training"""
