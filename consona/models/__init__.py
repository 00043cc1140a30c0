"""consona.models"""
