"""consona.augmentation"""
