"""consona.agent"""
