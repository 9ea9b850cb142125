"""Invoice documents: rule 46 content (document.py), the PDF (pdf.py) and the e-invoice JSON
(einvoice.py); service.py is the one entry point the API and other domains use."""
