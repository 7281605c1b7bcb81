"""我的证照 (/certificates) and 亮证: the pages over app.certificates, with the QR code app.cases draws for receipts."""
