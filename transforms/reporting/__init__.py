"""What people read: message catalogues and formatting shared by the credit and sequences reports."""
