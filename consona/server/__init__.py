"""consona.server"""
