"""consona.evaluation"""
