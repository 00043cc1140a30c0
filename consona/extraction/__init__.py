"""consona.extraction"""
