
	
YP-001
9434765919 (0:s47 enquiryBhub:norwichB
camhs-caraJ$5f1a2b3c-0000-4000-8000-000000000001j$5f1a2b3c-0000-4000-8000-000000000002’`
young personcamhs referral €Ğ•ÿ¼1(€¨Ú¼²20:BcamhsJ$5f1a2b3c-0000-4000-8000-000000000003P