"""consona.pipeline"""
