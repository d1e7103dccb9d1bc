"""mer_live"""
