"""McCoyd & Wagner's background class defense on EMNIST."""
